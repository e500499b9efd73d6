{% macro latest_row_per_key(relation, key) -%}
    {#- The change feed collapsed: the latest version of each key. Ties on updated_at (an exact duplicate
        row, or two versions stamped the same instant) go to the row loaded last, then to the last row of
        the last file, so the choice is the same on every run and every warehouse. -#}
    select *
    from (
        select
            *,
            row_number() over (
                partition by {{ key }}
                order by
                    updated_at desc,
                    _loaded_at desc,
                    _source_file desc,
                    _source_row_number desc
            ) as version_rank
        from {{ relation }}
    ) as versions
    where version_rank = 1
{%- endmacro %}
