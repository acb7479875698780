#!/usr/bin/env bash
# tetherd must not need libssl or libcrypto (issue 15: 1.7 MiB of idle RSS): neither in its
# DT_NEEDED (readelf -d) nor among what the loader maps for it (ldd). The TLS module must
# need them (else this check proves nothing) and must export its entry only.
# Usage: no_openssl.sh <tetherd> <tetherd-tls.so>
set -uo pipefail
bin=$1 module=$2
fail=0
needed=$(readelf -d "$bin" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p')
echo "tetherd NEEDED: $(echo $needed)"
if grep -E '^lib(ssl|crypto)\.' <<<"$needed"; then echo "FAIL: tetherd needs OpenSSL directly"; fail=1; fi
mapped=$(ldd "$bin") || { echo "FAIL: ldd $bin"; exit 1; }
if grep -E 'lib(ssl|crypto)\.so' <<<"$mapped"; then echo "FAIL: tetherd maps OpenSSL through a dependency"; fail=1; fi
if grep -E 'libstdc\+\+' <<<"$mapped"; then echo "FAIL: tetherd maps libstdc++.so"; fail=1; fi
mneeded=$(readelf -d "$module" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p')
echo "tetherd-tls.so NEEDED: $(echo $mneeded)"
grep -qE '^libssl\.' <<<"$mneeded" || { echo "FAIL: the module does not need libssl (is it the TLS module?)"; fail=1; }
grep -qE '^libstdc\+\+' <<<"$mneeded" && { echo "FAIL: the module needs libstdc++.so (it carries its own)"; fail=1; }
exports=$(readelf --dyn-syms -W "$module" | awk '$1 ~ /^[0-9]+:$/ && $5 != "LOCAL" && $7 != "UND" && $8 ~ /./ {print $8}' | grep -v '^$' | sort -u)
echo "tetherd-tls.so exports: $(echo $exports)"
[ "$exports" = "tetherd_tls_module" ] || { echo "FAIL: the module must export tetherd_tls_module only"; fail=1; }
[ $fail = 0 ] && echo "ok: tetherd maps no OpenSSL; the module does and exports its entry only"
exit $fail
