# contain.sh as keyrevoked sends it: without comment lines, blank lines and leading blanks
# (Cloud Assistant takes 16 to 24 KB of base64 command content, keys included). contain.sh is
# written to mean the same after this; tests/integration/test-contain-script.sh runs both forms.
#     sed -f agent/instance/strip.sed agent/instance/contain.sh
s/^[[:space:]]*//
/^#/d
/^$/d
