-- Every order's total is its subtotal - discount + shipping + tax, to the cent, as the source contract says.
select
    order_id,
    subtotal_amount,
    discount_amount,
    shipping_amount,
    tax_amount,
    total_amount
from {{ ref('fct_orders') }}
where total_amount <> subtotal_amount - discount_amount + shipping_amount + tax_amount
