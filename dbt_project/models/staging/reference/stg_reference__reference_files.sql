-- Whether each user-kept reference file was present at the last load: a rule whose input file is absent
-- yields "unknown", never "pass".

with

source as (

    select * from {{ source('ingest', 'reference_files') }}

)

select
    file_kind,
    file_path,
    present as is_present,
    rows_loaded,
    loaded_at
from source
