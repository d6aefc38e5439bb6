select
    cast(customer_id as integer) as customer_id,
    cast(first_name || ' ' || last_name as varchar(100)) as full_name
from {{ ref('stg_customers') }}
