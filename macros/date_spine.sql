{% macro date_spine(date_range) -%}
    {#- One row per day, column `date_day`, from `first_day` to `last_day` of `date_range` (a relation or
        CTE of one row), for up to 100,000 days (273 years); built from cross joins of digits, which every
        warehouse runs. -#}
    with digits as (
        {% for digit in range(10) -%}
        select {{ digit }} as n{% if not loop.last %} union all{% endif %}
        {% endfor %}
    ),

    day_numbers as (
        select
            ones.n
            + 10 * tens.n
            + 100 * hundreds.n
            + 1000 * thousands.n
            + 10000 * ten_thousands.n as day_number
        from digits as ones
        cross join digits as tens
        cross join digits as hundreds
        cross join digits as thousands
        cross join digits as ten_thousands
    )

    select cast({{ dbt.dateadd('day', 'day_numbers.day_number', 'date_range.first_day') }} as date) as date_day
    from day_numbers
    cross join {{ date_range }} as date_range
    where day_numbers.day_number <= {{ dbt.datediff('date_range.first_day', 'date_range.last_day', 'day') }}
{%- endmacro %}
