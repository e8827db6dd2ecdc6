package cli

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/imapmigrate/imapmigrate/internal/syncer"
)

// printSyncText prints the folder table and the totals of a sync.
func printSyncText(w io.Writer, res *syncer.Result, state string) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	if res.DryRun {
		fmt.Fprintln(tw, "SOURCE FOLDER\tTARGET FOLDER\tACTION\tTO COPY\tSIZE\tWOULD SKIP")
	} else {
		fmt.Fprintln(tw, "SOURCE FOLDER\tTARGET FOLDER\tSTATUS\tCOPIED\tFLAGS\tSKIPPED")
	}
	folders := append([]syncer.FolderResult(nil), res.Folders...)
	sort.SliceStable(folders, func(i, j int) bool { return folders[i].Source < folders[j].Source })
	for _, f := range folders {
		status := folderStatus(f, res.DryRun)
		if res.DryRun {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\n", f.Source, f.Target, status, f.ToCopy, humanBytes(f.ToCopyBytes), skippedText(f.Skipped))
		} else {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%s\n", f.Source, f.Target, status, f.Copied+f.Matched, f.FlagsUpdated, skippedText(f.Skipped))
		}
	}
	tw.Flush()
	fmt.Fprintln(w)
	if res.DryRun {
		fmt.Fprintf(w, "Dry run: nothing was changed. Folders to create: %d.\n", res.FoldersCreated)
		return
	}
	secs := res.Duration.Seconds()
	fmt.Fprintf(w, "Folders: %d synced, %d created, %d failed\n", res.FoldersSynced, res.FoldersCreated, res.FoldersFailed)
	fmt.Fprintf(w, "Messages: %d copied (%s), %d found already on the target, %d flag updates, %d skipped%s\n",
		res.Copied, humanBytes(res.Bytes), res.Matched, res.FlagsUpdated, res.SkippedTotal(), skippedSuffix(res.Skipped))
	if res.KeywordsDropped > 0 {
		fmt.Fprintf(w, "Keywords the target does not store: %d dropped\n", res.KeywordsDropped)
	}
	if secs > 0 {
		fmt.Fprintf(w, "Time: %.1fs, %.0f messages/s, %.2f MiB/s, %d reconnects\n", secs, float64(res.Copied)/secs, float64(res.Bytes)/(1<<20)/secs, res.Reconnects)
	}
	for _, f := range folders {
		if f.Error != "" {
			fmt.Fprintf(w, "FAILED %s: %s\n", f.Source, f.Error)
		}
		for _, s := range f.SkippedItems {
			fmt.Fprintf(w, "SKIPPED %s uid %d (%s): %s\n", f.Source, s.SourceUID, s.Reason, s.Detail)
		}
	}
	fmt.Fprintf(w, "State: %s\n", state)
}

func folderStatus(f syncer.FolderResult, dry bool) string {
	switch {
	case f.Excluded != "":
		return "excluded (" + f.Excluded + ")"
	case f.Error != "":
		return "FAILED"
	case f.Parent:
		if f.Created {
			return "parent, created"
		}
		return "parent"
	case dry && f.Created:
		return "create, copy"
	case dry:
		return "copy"
	case f.Created:
		return "created, synced"
	case f.Unchanged:
		return "unchanged"
	}
	return "synced"
}

func skippedText(m map[syncer.SkipReason]int) string {
	if len(m) == 0 {
		return "0"
	}
	return strings.TrimPrefix(skippedSuffix(m), " ")
}

func skippedSuffix(m map[syncer.SkipReason]int) string {
	if len(m) == 0 {
		return ""
	}
	var parts []string
	for r, n := range m {
		parts = append(parts, fmt.Sprintf("%s %d", r, n))
	}
	sort.Strings(parts)
	return " (" + strings.Join(parts, ", ") + ")"
}
