package syncer

// EventKind says what an Event reports.
type EventKind int

const (
	FolderStarted  EventKind = iota // Total, TotalBytes: what this pass will copy
	MessagesCopied                  // Messages just committed (Skipped of them skipped), Bytes copied
	FolderDone                      // the folder's pass ended (Err set if it failed)
	Retrying                        // a transient error; Err says which, the folder resumes
	Planned                         // Plan: the folders this pass will sync, with their sizes (STATUS MESSAGES)
)

// Event is a progress report. Events of one folder arrive in order; events
// of different folders interleave.
type Event struct {
	Kind       EventKind
	Folder     string // source folder name
	Messages   int
	Skipped    int // MessagesCopied: how many of Messages were skipped, not copied
	Bytes      int64
	Total      int
	TotalBytes int64
	Err        error
	Plan       map[string]int // Planned: source folder → messages in it
}
