package local

import (
	"bytes"
	"errors"
	"io"
	"log"
	"slices"
	"testing"
	"time"

	"github.com/versity/versitygw/auth"
)

// newTestIAM builds the IAM service as Serve does.
func newTestIAM() *iamService {
	iam := newIAMService(newAuthorizer(log.New(io.Discard, "", 0)))
	iam.addRoleKey(testBAccess, testBSecret, sourceSessionARN(AccountB), sourceRoleARN(AccountB), auth.RoleUserPlus)
	iam.allowPrincipal(WriterRoleARN)
	iam.allowPrincipal(BreakGlassRoleARN)
	return iam
}

func TestResolvePrincipals(t *testing.T) {
	iam := newTestIAM()
	for _, c := range []struct {
		principal string
		known     bool
	}{
		{"arn:aws:iam::" + AccountB + ":root", true},
		{AccountB, true},
		{sourceRoleARN(AccountB), true},
		{WriterRoleARN, true},
		{BreakGlassRoleARN, true},
		{"arn:aws:iam::" + AccountA + ":role/no-such-role", false},
		{"arn:aws:iam::" + accountC + ":root", false},
		{accountC, false},
	} {
		unknown, err := iam.ResolvePrincipals([]string{c.principal})
		if err != nil {
			t.Fatalf("ResolvePrincipals(%s): %v", c.principal, err)
		}
		if got := len(unknown) == 0; got != c.known {
			t.Errorf("ResolvePrincipals(%s): unknown %q, want known=%v", c.principal, unknown, c.known)
		}
	}
	all := []string{"arn:aws:iam::" + AccountB + ":root", "arn:aws:iam::" + accountC + ":root", WriterRoleARN, "arn:aws:iam::" + AccountA + ":role/ghost"}
	unknown, err := iam.ResolvePrincipals(all)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{all[1], all[3]}; !slices.Equal(unknown, want) {
		t.Errorf("ResolvePrincipals(%q) = %q, want %q", all, unknown, want)
	}
}

func TestGetUserAccount(t *testing.T) {
	iam := newTestIAM()
	if _, err := iam.GetUserAccount("AKIAUNKNOWNUNKNOWN00"); !errors.Is(err, auth.ErrNoSuchUser) {
		t.Errorf("GetUserAccount(unknown): err %v, want auth.ErrNoSuchUser", err)
	}
	acc, err := iam.GetUserAccount(testBAccess)
	if err != nil {
		t.Fatalf("GetUserAccount(B): %v", err)
	}
	if acc.Access != testBAccess || acc.Secret != testBSecret || acc.Arn != sourceSessionARN(AccountB) || acc.Role != auth.RoleUserPlus {
		t.Errorf("GetUserAccount(B) = %+v", acc)
	}
	if unknown, _ := iam.ResolveAccounts([]string{testBAccess, "AKIAUNKNOWNUNKNOWN00"}); !slices.Equal(unknown, []string{"AKIAUNKNOWNUNKNOWN00"}) {
		t.Errorf("ResolveAccounts: unknown %q", unknown)
	}
}

func TestDeriveSigningKeyLongTermKey(t *testing.T) {
	iam := newTestIAM()
	const date = "20260101"
	key, acc, err := iam.DeriveSigningKey(testBAccess, "", date, Region, "s3")
	if err != nil {
		t.Fatalf("DeriveSigningKey(B, no token): %v", err)
	}
	if !bytes.Equal(key, deriveKey(testBSecret, date, Region, "s3")) {
		t.Error("signing key is not the SigV4 key of B's secret")
	}
	if acc.IsSession || acc.SessionToken != "" || acc.Arn != sourceSessionARN(AccountB) {
		t.Errorf("account %+v: want a non-session account of %s", acc, sourceSessionARN(AccountB))
	}
	if _, _, err := iam.DeriveSigningKey(testBAccess, "some-session-token", date, Region, "s3"); !errors.Is(err, auth.ErrInvalidSessionToken) {
		t.Errorf("long-term key with a session token: err %v, want auth.ErrInvalidSessionToken", err)
	}
	if _, _, err := iam.DeriveSigningKey("AKIAUNKNOWNUNKNOWN00", "", date, Region, "s3"); !errors.Is(err, auth.ErrNoSuchUser) {
		t.Errorf("unknown key: err %v, want auth.ErrNoSuchUser", err)
	}
}

// TestListUserAccountsOmitsSessions: temporary credentials are no accounts.
func TestListUserAccountsOmitsSessions(t *testing.T) {
	iam := newTestIAM()
	access, _, _, _ := iam.mintSession(WriterRoleARN, "s", time.Hour, nil, nil)
	accs, err := iam.ListUserAccounts()
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range accs {
		if a.Access == access {
			t.Errorf("ListUserAccounts lists the session key %s", access)
		}
	}
	if len(accs) != 1 || accs[0].Access != testBAccess {
		t.Errorf("ListUserAccounts = %+v, want only Account B's user", accs)
	}
}
