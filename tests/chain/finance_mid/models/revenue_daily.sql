with sales as (
    select * from {{ ref('stg_sales') }}
)

select
    sales.sold_on as order_date,
    regions.region_name,
    cast(sum(sales.amount) as decimal(18,2)) as amount,
    cast(count(*) as integer) as order_count
from sales
join {{ ref('sales_core', 'regions') }} as regions using (region_id)
group by 1, 2
