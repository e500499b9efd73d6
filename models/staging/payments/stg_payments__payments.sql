{{ config(unique_key='payment_id') }}

with

{% if is_incremental() %}
changed_keys as (

    -- The driving input: the keys with a raw row loaded since the watermark.
    select payment_id from {{ source('payments', 'payments') }}
    where _loaded_at > {{ incremental_watermark('loaded_at') }}

),
{% endif %}

source as (

    select * from {{ source('payments', 'payments') }}
    {% if is_incremental() %}
    -- Every raw version of those keys, so the latest (and an erasure) is chosen among all of them. Keys
    -- are issued in order: the range lets the scan skip the row groups of old loads unread.
    where
        payment_id in (select changed_keys.payment_id from changed_keys)
        and payment_id >= (select min(changed_keys.payment_id) from changed_keys)
    {% endif %}

),

payment_statuses as (

    select * from {{ ref('payment_statuses') }}

),

payment_methods as (

    select * from {{ ref('payment_methods') }}

),

latest as (

    {{ latest_row_per_key('source', 'payment_id') }}

),

coded as (

    select
        *,
        lower(trim(payment_method)) as payment_method_code,
        lower(trim(payment_status)) as payment_status_code
    from latest

),

final as (

    -- Left joins: a payment with a code the seeds do not list keeps its raw code, and a test names it.
    select
        coded.payment_id,
        coded.order_id,
        coded.payment_method_code as payment_method,
        coalesce(payment_methods.method_group, 'unknown') as payment_method_group,
        coded.payment_status_code as payment_status,
        payment_statuses.is_captured,
        payment_statuses.is_failed,
        payment_statuses.is_pending,
        coded.amount,
        coalesce(coded.refunded_amount, 0) as refunded_amount,
        upper(coded.currency) as currency,
        coded.failure_reason,
        coded.created_at,
        {{ utc_date('coded.created_at') }} as created_date,
        coded.updated_at,
        coded._loaded_at as loaded_at
    from coded
    left join payment_methods
        on coded.payment_method_code = payment_methods.payment_method
    left join payment_statuses
        on coded.payment_status_code = payment_statuses.payment_status

)

select * from final
