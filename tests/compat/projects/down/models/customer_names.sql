-- the latest version of up.public_customers (v2)
select customer_id, full_name from {{ source('up', 'public_customers') }}
