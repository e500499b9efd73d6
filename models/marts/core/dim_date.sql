with

spine as (

    select * from {{ ref('int_calendar__days') }}

),

final as (

    select
        date_day,
        cast(extract(year from date_day) as integer) as year_number,
        cast(extract(quarter from date_day) as integer) as quarter_number,
        cast(extract(month from date_day) as integer) as month_number,
        case cast(extract(month from date_day) as integer)
            when 1 then 'January' when 2 then 'February' when 3 then 'March'
            when 4 then 'April' when 5 then 'May' when 6 then 'June'
            when 7 then 'July' when 8 then 'August' when 9 then 'September'
            when 10 then 'October' when 11 then 'November' else 'December'
        end as month_name,
        cast(extract(day from date_day) as integer) as day_of_month,
        cast({{ iso_day_of_week('date_day') }} as integer) as iso_day_of_week,
        cast({{ iso_week('date_day') }} as integer) as iso_week_number,
        cast({{ dbt.date_trunc('week', 'date_day') }} as date) as week_start_date,
        cast({{ dbt.date_trunc('month', 'date_day') }} as date) as month_start_date,
        cast({{ iso_day_of_week('date_day') }} as integer) in (6, 7) as is_weekend,
        cast({{ dbt.dateadd('day', 1, 'date_day') }} as date)
        = cast({{ dbt.date_trunc('month', dbt.dateadd('day', 1, 'date_day')) }} as date) as is_month_end
    from spine

)

select * from final
