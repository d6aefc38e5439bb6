select
    cast(customer_id as integer) as customer_id,
    cast(first_name as varchar(50)) as first_name,
    cast(last_name as varchar(50)) as last_name
from {{ ref('stg_customers') }}
