-- Deliberately pinned to the DEPRECATED version v1 of public_customers
-- (deprecation_date 2027-06-30): dbt warns about the upcoming deprecation.
select
    customer_id,
    first_name,
    last_name,
    email,
    number_of_orders
from {{ ref('dbt_up', 'public_customers', v=1) }}
