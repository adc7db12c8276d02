-- The CAPE rules each entry did not pass (fail or unknown), with the rules version they were decided by. The logic,
-- and every rule for every entry with the passes and their evidence, is the view int_eligibility__rule_results:
-- storing the passes too would write one row per entry and rule in force, most of them passes. A rule in force
-- with no row here for an entry passed.

select
    *,
    {{ rules_version() }} as rules_version
from {{ ref('int_eligibility__rule_results') }}
where outcome <> 'pass' or result <> 'pass'
