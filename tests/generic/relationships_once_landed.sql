{#-
    A relationships test for two feeds with different cutoffs: every value of column_name is a `field` of
    `to`, once `to` has caught up with it. A row counts when its `at` is more than `lateness_hours` before
    the newest `to_updated_at` of `to`; a later row passes, its parent may be in a file still to come (the
    last minutes' changes that make the next day's export, or part of an export that lands days late).
    Nulls pass. Fails with one row per missing value: the value, its row count and its first and last `at`.
-#}
{% test relationships_once_landed(model, column_name, to, field, at, to_updated_at, lateness_hours) %}

with

children as (

    select
        {{ column_name }} as missing_value,
        {{ at }} as child_at
    from {{ model }}
    where {{ column_name }} is not null

),

parents as (

    select {{ field }} as parent_value from {{ to }}

),

caught_up as (

    select {{ dbt.dateadd('hour', -(lateness_hours | int), 'max(' ~ to_updated_at ~ ')') }} as through_at
    from {{ to }}

),

final as (

    select
        children.missing_value,
        count(*) as row_count,
        min(children.child_at) as first_at,
        max(children.child_at) as last_at
    from children
    cross join caught_up
    left join parents
        on children.missing_value = parents.parent_value
    where
        parents.parent_value is null
        and children.child_at <= caught_up.through_at
    group by children.missing_value

)

select * from final

{% endtest %}
