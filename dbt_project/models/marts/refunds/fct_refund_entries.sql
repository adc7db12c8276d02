-- Published from int_refunds__entries (the logic lives there), with the rules version it was decided by.

select
    *,
    {{ rules_version() }} as rules_version
from {{ ref('int_refunds__entries') }}
