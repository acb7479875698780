# Warnings are errors in the project's own code (third-party headers are -isystem).
function(tetherd_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Werror)
endfunction()
