-- Published from int_eligibility__rule_results (the logic lives there), with the rules version it was decided by.

select
    *,
    {{ rules_version() }} as rules_version
from {{ ref('int_eligibility__rule_results') }}
