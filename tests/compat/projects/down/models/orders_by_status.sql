select status, count(*) as order_count, sum(amount) as total_amount
from {{ source('up', 'public_orders') }}
group by status
