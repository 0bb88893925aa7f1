# dist/config-doc.awk - turns pulsemqd's config table into documentation.
#
# Input: the output of `pulsemqd --dump-config-table`, one key per line,
# tab-separated: SECTION NAME DEFAULT EXPECTED HELP (SECTION is "system" or
# "topic"; topic keys have no default of their own). The table in
# server/daemon/config.c is the only list of keys; this script only formats it.
#
#   awk -v mode=man  -f config-doc.awk   roff for pulsemq.conf(5)
#   awk -v mode=conf -f config-doc.awk   commented defaults for pulsemqd.conf
BEGIN { FS = "\t"; nsys = 0; ntopic = 0 }

function roff(s) {
	gsub(/\\/, "\\e", s)
	gsub(/-/, "\\-", s)
	if (s ~ /^[.']/)
		s = "\\&" s
	return s
}

NF >= 5 {
	if ($1 == "system") {
		nsys++
		sname[nsys] = $2; sdef[nsys] = $3; sexp[nsys] = $4; shelp[nsys] = $5
	} else if ($1 == "topic") {
		ntopic++
		tname[ntopic] = $2; texp[ntopic] = $4; thelp[ntopic] = $5
	}
}

END {
	if (nsys == 0) {
		print "config-doc.awk: no keys in the input" > "/dev/stderr"
		exit 1
	}
	if (mode == "man") {
		print ".SS \"[system] section\""
		for (i = 1; i <= nsys; i++) {
			print ".TP"
			if (sdef[i] == "")
				print "\\fB" roff(sname[i]) "\\fR = (empty)"
			else
				print "\\fB" roff(sname[i]) "\\fR = \\fI" roff(sdef[i]) "\\fR"
			print roff(shelp[i]) "."
			print ".br"
			print "Value: " roff(sexp[i]) "."
		}
		print ".SS \"[topic=NAME] sections\""
		print "Each key overrides the [system] value for topic NAME;"
		print "an absent key means the [system] value."
		for (i = 1; i <= ntopic; i++) {
			print ".TP"
			print "\\fB" roff(tname[i]) "\\fR"
			print roff(thelp[i]) "."
			print ".br"
			print "Value: " roff(texp[i]) "."
		}
	} else if (mode == "conf") {
		for (i = 1; i <= nsys; i++) {
			print ""
			print "# " shelp[i]
			print "#   (" sexp[i] ")"
			print "#" sname[i] (sdef[i] == "" ? " =" : " = " sdef[i])
		}
		print ""
		print "# Per-topic overrides: one section per topic, any of these keys;"
		print "# an absent key means the [system] value."
		print "#"
		print "#[topic=NAME]"
		for (i = 1; i <= ntopic; i++)
			print "#" tname[i] " = ...    # " thelp[i] " (" texp[i] ")"
	} else {
		print "config-doc.awk: mode must be man or conf" > "/dev/stderr"
		exit 1
	}
}
