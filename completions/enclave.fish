# fish completion for enclave. The candidates come from the CLI itself
# (`enclave __complete`), i.e. from the same tables as its parser, and
# sandbox, workspace and snapshot names from the daemon when it runs.
function __enclave_complete
        set -l tokens (commandline -opc)
        set -l cur (commandline -ct)
        for line in ($tokens[1] __complete -- $tokens[2..-1] $cur 2>/dev/null)
                switch $line
                        case ':file'
                                __fish_complete_path $cur
                        case ':dir'
                                __fish_complete_directories $cur
                        case ':command'
                                __fish_complete_command
                        case ':user'
                                __fish_complete_users
                        case ':*'
                        case '*'
                                echo $line
                end
        end
end

complete -c enclave -f -a '(__enclave_complete)'
