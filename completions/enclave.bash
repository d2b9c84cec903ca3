# bash completion for enclave. The candidates come from the CLI itself
# (`enclave __complete`), i.e. from the same tables as its parser, and
# sandbox, workspace and snapshot names from the daemon when it runs.
_enclave()
{
        local cur words cword
        if declare -F _get_comp_words_by_ref >/dev/null; then
                _get_comp_words_by_ref -n =: cur words cword
        else
                words=("${COMP_WORDS[@]}")
                cword=$COMP_CWORD
                cur=${COMP_WORDS[COMP_CWORD]}
        fi
        local line kind= values=()
        while IFS= read -r line; do
                case $line in
                :*) kind=${line#:} ;;
                *) values+=("${line%%$'\t'*}") ;;
                esac
        done < <("${words[0]}" __complete -- "${words[@]:1:cword}" 2>/dev/null)
        case $kind in
        file) compopt -o filenames 2>/dev/null; mapfile -t COMPREPLY < <(compgen -f -- "$cur") ;;
        dir) compopt -o filenames 2>/dev/null; mapfile -t COMPREPLY < <(compgen -d -- "$cur") ;;
        command) mapfile -t COMPREPLY < <(compgen -c -- "$cur") ;;
        user) mapfile -t COMPREPLY < <(compgen -u -- "$cur") ;;
        *) COMPREPLY=("${values[@]}") ;;
        esac
        # "--suite=bo": readline replaces only what follows the '='.
        if [[ $cur == --*=* && $COMP_WORDBREAKS == *=* ]]; then
                COMPREPLY=("${COMPREPLY[@]#"${cur%%=*}="}")
        fi
        if declare -F __ltrim_colon_completions >/dev/null; then
                __ltrim_colon_completions "$cur"
        fi
}
complete -F _enclave enclave
