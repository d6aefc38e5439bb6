-- Pinned to the deprecated v1 of dbt_up.public_customers (first_name / last_name columns).
select
    customer_id,
    first_name,
    last_name
from {{ source('dbt_up', 'public_customers_v1') }}
