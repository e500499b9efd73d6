{% macro changed_keys(source_relation, key) -%}
    {#- For an incremental staging model: a filter keeping only the keys with a raw row loaded after the
        newest row the model holds (less var('lookback_hours')), with every raw version of each, so the
        latest version (and an erasure) is still chosen among all of a key's versions. Nothing on a full
        build. Raw tables grow in load order, so the scan for new rows reads little of them, and the
        lowest changed key bounds the scan for their versions. -#}
    {%- if is_incremental() %}
        {%- set cutoff -%}
            coalesce({{ lookback_cutoff(this, 'loaded_at') }}, cast('1900-01-01' as {{ dbt.type_timestamp() }}))
        {%- endset %}
    where {{ in_key_set(key, key, source_relation ~ ' where _loaded_at > ' ~ cutoff) }}
    {%- endif %}
{%- endmacro %}
