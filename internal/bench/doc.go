// Package bench measures imapmigrate against mbsync (Debian's isync) on one
// machine, the way a migration batch runs: one process per mailbox, all
// mailboxes at once, from a source Dovecot into a fresh target Dovecot, over
// TLS, with Dovecot master logins. `make bench` runs it through
// cmd/imapbench; docs/BENCHMARKS.md holds the figures.
//
// What a benchmark run does:
//
//  1. NewCorpus draws a deterministic corpus from a seed: users, folders with
//     non-ASCII and nested names, a long-tailed size distribution with a
//     fixed number of huge messages per user, flags and keywords. Only the
//     description is kept in memory; message bytes are generated from each
//     message's own seed when they are loaded, one chunk at a time.
//  2. Load appends the corpus to the source Dovecot over the plain port and
//     checks every folder's count there. Loading is not measured.
//  3. For each of Config.Runs rounds, after an uncounted warm-up round, each
//     tool copies every user into its own fresh target Dovecot: imapmigrate
//     reads the source over implicit TLS and writes the target over
//     STARTTLS; mbsync is configured the same way. The order of the tools
//     alternates between rounds, so neither always meets the colder caches.
//  4. A round's figures are for the whole batch: wall time from the first
//     process started to the last one reaped, messages and bytes of the
//     corpus divided by it, the CPU time of all processes and the largest
//     peak RSS, measured by GNU time (RSSByTime says why not by wait4 from
//     Go). Both tools are divided into the same corpus totals, so the rates
//     compare.
//  5. After each run the target's count of every source folder must equal
//     the source's, and no other target folder may hold a message;
//     imapmigrate's own JSON totals must match the corpus too. With
//     Config.VerifyContent every message is compared as well. A run that
//     fails a check is reported and makes the benchmark fail, but the other
//     runs still happen.
//  6. The summary is the median of the rounds per tool and the ratios
//     imapmigrate/mbsync. A separate big-message case copies a mailbox made
//     only of huge messages, to show imapmigrate's peak RSS against its
//     target (Config.RSSLimitMiB).
//
// Throughput on a shared two-core machine is noisy: read the medians and the
// ratios, not single runs.
package bench
