package cli

import (
	"fmt"
	"runtime/debug"
	"strings"

	"github.com/spf13/cobra"
)

func init() { subcommands = append(subcommands, newVersionCommand) }

func newVersionCommand(g *globalOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version of imapmigrate and the revision it was built from",
		Long: `Print the version of imapmigrate: the module version ("devel" for a build
from a work tree) and, when the build recorded them, the VCS revision and its
time. imapmigrate --version prints the same.

EXIT STATUS
  0 printed; 2 usage error`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error { return printVersion(g) },
	}
}

// versionInfo is what the binary was built from.
type versionInfo struct {
	Version  string // the main module's version; "devel" when unknown
	Revision string // the VCS revision; "" when not recorded
	Time     string `json:",omitempty"` // the revision's commit time (RFC 3339)
	Modified bool   `json:",omitempty"` // the work tree had uncommitted changes
}

// buildInfo is debug.ReadBuildInfo, replaced in tests.
var buildInfo = debug.ReadBuildInfo

// versionOf reads the version from the build information.
func versionOf(bi *debug.BuildInfo, ok bool) versionInfo {
	v := versionInfo{Version: "devel"}
	if !ok || bi == nil {
		return v
	}
	if mv := bi.Main.Version; mv != "" && mv != "(devel)" {
		v.Version = mv
	}
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			v.Revision = s.Value
		case "vcs.time":
			v.Time = s.Value
		case "vcs.modified":
			v.Modified = s.Value == "true"
		}
	}
	return v
}

func (v versionInfo) String() string {
	var extra []string
	if v.Revision != "" {
		extra = append(extra, "revision "+v.Revision)
	}
	if v.Time != "" {
		extra = append(extra, v.Time)
	}
	if v.Modified {
		extra = append(extra, "modified")
	}
	if len(extra) == 0 {
		return "imapmigrate " + v.Version
	}
	return fmt.Sprintf("imapmigrate %s (%s)", v.Version, strings.Join(extra, ", "))
}

func printVersion(g *globalOptions) error {
	if err := g.validateOutput(); err != nil {
		return err
	}
	v := versionOf(buildInfo())
	if g.output == "json" {
		return printJSON(g.stdout, v)
	}
	_, err := fmt.Fprintln(g.stdout, v)
	return err
}
