-- Published from int_eligibility__entry_refundable (the logic lives there), with the rules version it was decided by.

select
    * exclude (_loads_seen_through, _build_fingerprint),  -- the incremental build's bookkeeping
    {{ rules_version() }} as rules_version
from {{ ref('int_eligibility__entry_refundable') }}
