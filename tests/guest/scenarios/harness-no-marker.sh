# Harness self-test: the guest dies before printing its result marker.
# run-guest must report this as a failure (see selftest/expect-failure).
echo "harness self-test: powering off without a result"
echo o > /proc/sysrq-trigger
sleep 30
