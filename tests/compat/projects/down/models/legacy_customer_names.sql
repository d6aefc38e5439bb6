-- pinned to the deprecated v1
select customer_id, first_name, last_name from {{ source('up', 'public_customers_v1') }}
