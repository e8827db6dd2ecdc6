package imapconn

import "testing"

func TestXOAUTH2Client(t *testing.T) {
	c := &xoauth2Client{user: "terry@example.com", token: "ya29.token"}
	mech, ir, err := c.Start()
	if err != nil || mech != "XOAUTH2" || string(ir) != "user=terry@example.com\x01auth=Bearer ya29.token\x01\x01" {
		t.Fatalf("Start = %q %q %v", mech, ir, err)
	}
	// On failure the server sends a JSON challenge; the client answers empty.
	resp, err := c.Next([]byte(`{"status":"401","schemes":"bearer"}`))
	if err != nil || len(resp) != 0 {
		t.Fatalf("Next = %q %v", resp, err)
	}
	if _, err := c.Next(nil); err == nil {
		t.Fatal("a second challenge must fail")
	}
}

func TestSecretNeverPrints(t *testing.T) {
	cfg := Config{Password: "hunter2"}
	for _, s := range []string{cfg.Password.String(), cfg.Password.GoString()} {
		if s != "***" {
			t.Errorf("secret printed as %q", s)
		}
	}
}
