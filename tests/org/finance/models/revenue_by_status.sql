select status, count(*) as orders, sum(amount) as revenue
from {{ source('orders_core', 'public_orders') }}
group by status
