{% macro rows_failing(model, condition, row_condition=none) -%}
    {#- The rows of `model` (those meeting `row_condition`, if given) for which `condition` is false: the
        failures of a row-level expectation test. A null makes `condition` unknown, so that row passes,
        as in dbt-expectations. -#}
    with candidate_rows as (

        select *
        from {{ model }}
        {%- if row_condition %}
        where ({{ row_condition }})
        {%- endif %}

    ),

    final as (

        select *
        from candidate_rows
        where not ({{ condition }})

    )

    select *
    from final
{%- endmacro %}
