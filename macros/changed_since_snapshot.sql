{% macro changed_since_snapshot() -%}
    {#- For a snapshot's query over a staging model: a filter keeping only the rows loaded after the newest
        row the snapshot holds (less var('lookback_hours')), so a run compares the day's changes, not the
        whole history; nothing on the first run. Rows left out are not deleted from the snapshot: its
        hard_deletes is the default, ignore. -#}
    {#- var('assume_incremental') answers for the warehouse when compiling without one (see is_incremental) -#}
    {%- set assumed = var('assume_incremental', none) -%}
    {%- if execute and (assumed if assumed is not none else load_relation(this) is not none) %}
    where loaded_at > {{ lookback_cutoff(this, 'loaded_at') }}
    {%- endif %}
{%- endmacro %}
