-- Published from int_interest__entry_interest (the logic lives there), with the rules version it was decided by.

select
    *,
    {{ rules_version() }} as rules_version
from {{ ref('int_interest__entry_interest') }}
