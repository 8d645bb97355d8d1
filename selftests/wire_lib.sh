# SPDX-License-Identifier: GPL-2.0
#
# Helpers for the simulated-wire VM tests (selftests/vm/wire_*.sh), sourced
# after lib.sh. Kept out of selftests/vm/ so that no runner takes it for a
# test.
#
# devsim's counters reach the guest through the run directory the guest
# shares with the host: the tests ask tlsnic-vm for
#   --devsim-args '... --stats-file @RUN@/devsim.stats'
# and devsim rewrites $TLSNIC_VM_RUN/devsim.stats ("port<N>.<name> <value>"
# lines, the format `delta` in lib.sh reads) once a second. Port 0 is eth0
# (netns a), port 1 is eth1 (netns b); a port's wire_* counters are about
# the frames it sends, its rx_* counters about the frames it receives.

WIRE_RUN=${TLSNIC_VM_RUN:-/run/tlsnic-vm}
DEVSIM_STATS=$WIRE_RUN/devsim.stats

# devsim_stats: devsim's counters from a rewrite that began after this call,
# so they include every frame the guest sent before it (devsim also flushes
# its --pcap capture right before each rewrite). Fails after 10 s.
devsim_stats() {
	_ds_last=$(stat -c '%i %y' "$DEVSIM_STATS" 2> /dev/null) || {
		fail_msg "no $DEVSIM_STATS; run with --devsim-args '--stats-file @RUN@/devsim.stats'"
		return 1
	}
	_ds_changes=0
	_ds_tries=0
	while [ $_ds_tries -lt 100 ]; do
		_ds_now=$(stat -c '%i %y' "$DEVSIM_STATS" 2> /dev/null)
		if [ -n "$_ds_now" ] && [ "$_ds_now" != "$_ds_last" ]; then
			_ds_changes=$((_ds_changes + 1))
			_ds_last=$_ds_now
		fi
		# The first rewrite may have started before we were called.
		if [ $_ds_changes -ge 2 ] && cat "$DEVSIM_STATS"; then
			return 0
		fi
		sleep 0.1
		_ds_tries=$((_ds_tries + 1))
	done
	fail_msg "devsim did not rewrite $DEVSIM_STATS within 10 s"
	return 1
}

# devsim_value STATS NAME: one counter of a devsim_stats snapshot.
devsim_value() {
	printf '%s\n' "$1" | awk -v n="$2" '$1 == n { print $2; f = 1 } END { exit !f }'
}

# tcpext NS FIELD: a TcpExt counter of /proc/net/netstat inside netns NS.
tcpext() {
	ip netns exec "$1" cat /proc/net/netstat |
		awk -v f="$2" '$1 == "TcpExt:" && !h { for (i = 2; i <= NF; i++) idx[$i] = i; h = 1; next }
			$1 == "TcpExt:" && h { print $idx[f] }'
}

# pct PART WHOLE: PART as a percentage of WHOLE, two decimals.
pct() {
	awk -v p="$1" -v w="$2" 'BEGIN { printf "%.2f", (w > 0 ? 100 * p / w : 0) }'
}

# pct_within PART WHOLE LO HI: LO <= 100 * PART / WHOLE <= HI.
pct_within() {
	awk -v p="$1" -v w="$2" -v lo="$3" -v hi="$4" \
		'BEGIN { if (w <= 0) exit 1; r = 100 * p / w; exit !(r >= lo && r <= hi) }'
}
