select o.customer_id, c.order_count, count(*) filter (where o.status = 'shipped') as shipped
from {{ ref('orders_core', 'public_orders') }} as o
join {{ ref('orders_core', 'public_customers') }} as c on c.customer_id = o.customer_id
group by o.customer_id, c.order_count
