{{
    config(
        materialized='incremental',
        unique_key='date_day',
        incremental_strategy='delete+insert',
    )
}}

with

{% if is_incremental() %}
changed_days as (

    -- The driving input: the days with a payment attempt loaded since the watermark.
    select created_date from {{ ref('fct_payments') }}
    where source_loaded_at > {{ incremental_watermark() }}

),
{% endif %}

payments as (

    select * from {{ ref('fct_payments') }}
    {% if is_incremental() %}
    -- every attempt of those days
    where created_date in (select changed_days.created_date from changed_days)
    {% endif %}

),

final as (

    select
        created_date as date_day,
        payment_method,
        payment_method_group,
        count(*) as payment_attempts,
        cast(sum(case when is_captured then 1 else 0 end) as bigint) as captured_attempts,
        cast(sum(case when is_failed then 1 else 0 end) as bigint) as failed_attempts,
        cast(sum(case when is_pending then 1 else 0 end) as bigint) as pending_attempts,
        cast(
            case
                when sum(case when is_captured or is_failed then 1 else 0 end) > 0
                    then
                        1.0 * sum(case when is_captured then 1 else 0 end)
                        / sum(case when is_captured or is_failed then 1 else 0 end)
            end as decimal(9, 6)
        ) as payment_success_rate,
        cast(sum(case when is_captured then amount_reporting else 0 end) as decimal(18, 2))
            as captured_amount_reporting,
        cast(sum(refunded_amount_reporting) as decimal(18, 2)) as refunded_amount_reporting,
        max(source_loaded_at) as source_loaded_at
    from payments
    group by created_date, payment_method, payment_method_group

)

select * from final
