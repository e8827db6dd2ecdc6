package web

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"

	"github.com/imapmigrate/imapmigrate/internal/migration"
)

// usersPerPage is how many users a batch's page shows: the page stays
// fast on a batch of 20,000.
const usersPerPage = 100

func (h *handler) batchesPage(w http.ResponseWriter, r *http.Request) {
	bs, err := h.svc.Batches(r.Context(), "")
	if err != nil {
		h.fail(w, r, err)
		return
	}
	p := h.newPage(r, "Batches", "batches", bs)
	p.NoWorker = h.svc.NoWorker(r.Context())
	h.render(w, r, http.StatusOK, "batches", p)
}

// batchesRows is the live part of the batches page.
func (h *handler) batchesRows(w http.ResponseWriter, r *http.Request) {
	bs, err := h.svc.Batches(r.Context(), "")
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.fragment(w, "batch_rows", h.newPage(r, "", "", bs))
}

// batchData is what a batch's page shows.
type batchData struct {
	View       *migration.BatchView
	Status     migration.UserStatus // the filter; "" is every status
	Prev, Next string               // links to the pages around this one
	LiveURL    string
	// Mails are the batch's report e-mails (its page only).
	Mails []migration.Notification
}

// batchView reads the batch, its users filtered and paged as the query
// says (?status=Synced&offset=200).
func (h *handler) batchView(r *http.Request) (*batchData, error) {
	name := r.PathValue("name")
	q := r.URL.Query()
	var status migration.UserStatus
	if s := q.Get("status"); s != "" {
		var err error
		if status, err = migration.ParseUserStatus(s); err != nil {
			return nil, err
		}
	}
	offset, _ := strconv.Atoi(q.Get("offset"))
	v, err := h.svc.BatchView(r.Context(), name, status, max(offset, 0), usersPerPage)
	if err != nil {
		return nil, err
	}
	d := &batchData{View: v, Status: status}
	base := "/batches/" + url.PathEscape(name)
	link := func(path string, off int) string {
		q := url.Values{}
		if status != "" {
			q.Set("status", string(status))
		}
		if off > 0 {
			q.Set("offset", strconv.Itoa(off))
		}
		if len(q) == 0 {
			return path
		}
		return path + "?" + q.Encode()
	}
	if v.Page.Offset > 0 {
		d.Prev = link(base, max(v.Page.Offset-v.Page.Limit, 0))
	}
	if v.Page.Offset+v.Page.Limit < v.Page.Total {
		d.Next = link(base, v.Page.Offset+v.Page.Limit)
	}
	d.LiveURL = link(base+"/live", v.Page.Offset)
	return d, nil
}

func (h *handler) batchPage(w http.ResponseWriter, r *http.Request) {
	d, err := h.batchView(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if d.Mails, err = h.svc.Notifications(r.Context(), d.View.Name); err != nil {
		h.fail(w, r, err)
		return
	}
	p := h.newPage(r, "Batch "+d.View.Name, "batches", d)
	p.NoWorker = h.svc.NoWorker(r.Context())
	h.render(w, r, http.StatusOK, "batch", p)
}

// batchLive is the live part of a batch's page: its figures and the page
// of users shown.
func (h *handler) batchLive(w http.ResponseWriter, r *http.Request) {
	d, err := h.batchView(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.fragment(w, "batch_live", h.newPage(r, "", "", d))
}

// batchAction starts, stops or completes a batch, then shows it.
func (h *handler) batchAction(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	var err error
	var done string
	switch action := lastSegment(r.URL.Path); action {
	case "start":
		err, done = h.svc.StartBatch(r.Context(), name), "started"
	case "stop":
		err, done = h.svc.StopBatch(r.Context(), name), "stopped"
	case "complete":
		err, done = h.svc.CompleteBatch(r.Context(), name), "completed"
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	seeOther(w, r, "/batches/"+url.PathEscape(name)+"?done="+done)
}

func lastSegment(p string) string {
	for i := len(p) - 1; i >= 0; i-- {
		if p[i] == '/' {
			return p[i+1:]
		}
	}
	return p
}

// removeBatchPage asks to confirm, naming what goes.
func (h *handler) removeBatchPage(w http.ResponseWriter, r *http.Request) {
	b, err := h.svc.Batch(r.Context(), r.PathValue("name"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.render(w, r, http.StatusOK, "remove_batch", h.newPage(r, "Remove batch "+b.Name, "batches", b))
}

func (h *handler) removeBatch(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	removed, err := h.svc.RemoveBatch(r.Context(), name)
	if errors.Is(err, migration.ErrNotFound) {
		// Already gone: a form sent twice (a browser may send a POST
		// again on a new connection when the first one closed before
		// the answer) finds what the first one asked for.
		seeOther(w, r, "/batches?done=gone")
		return
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if !removed {
		seeOther(w, r, "/batches/"+url.PathEscape(name)+"?done=removing")
		return
	}
	seeOther(w, r, "/batches?done=removed")
}
