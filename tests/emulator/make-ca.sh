#!/bin/sh
# Makes a throwaway test CA (ca.pem, ca.key) and a server certificate (server.pem, server.key) for
# IP 127.0.0.1, ::1 and DNS localhost (plus any extra DNS names given) in DIR. EC P-256 keys.
# Usage: make-ca.sh DIR [EXTRA_DNS_NAME...]
set -eu

if [ $# -lt 1 ]; then
        echo "usage: $0 DIR [EXTRA_DNS_NAME...]" >&2
        exit 1
fi
dir=$1
shift
mkdir -p "$dir"
umask 077

san="IP:127.0.0.1,IP:::1,DNS:localhost"
for name in "$@"; do
        san="$san,DNS:$name"
done

openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$dir/ca.key" 2>/dev/null
openssl req -x509 -new -key "$dir/ca.key" -sha256 -days 30 -subj "/CN=keyrevoke test CA" \
        -addext "basicConstraints=critical,CA:TRUE" \
        -addext "keyUsage=critical,keyCertSign,cRLSign" \
        -out "$dir/ca.pem"

openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$dir/server.key" 2>/dev/null
openssl req -new -key "$dir/server.key" -subj "/CN=localhost" -out "$dir/server.csr"
cat >"$dir/server.ext" <<EOF
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=serverAuth
subjectKeyIdentifier=hash
authorityKeyIdentifier=keyid
subjectAltName=$san
EOF
openssl x509 -req -in "$dir/server.csr" -CA "$dir/ca.pem" -CAkey "$dir/ca.key" \
        -set_serial "0x$(openssl rand -hex 8)" -sha256 -days 30 -extfile "$dir/server.ext" \
        -out "$dir/server.pem" 2>/dev/null
rm -f "$dir/server.csr" "$dir/server.ext"
chmod 644 "$dir/ca.pem" "$dir/server.pem"
