package csvfile_test

import (
	"errors"
	"fmt"
	"strings"

	"github.com/imapmigrate/imapmigrate/internal/csvfile"
)

func ExampleParse() {
	in := "EmailAddress;UserName;Password\r\n" +
		"terrya@contoso.edu;terry.adams*mailadmin;P@ssw0rd\r\n" +
		"annb@contoso.edu;ann.beebe*mailadmin;P@ssw0rd\r\n"
	f, err := csvfile.Parse(strings.NewReader(in), csvfile.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(f.Encoding, f.Separator, f.Forms())
	for _, r := range f.Rows {
		fmt.Println(r)
	}
	// Output:
	// UTF-8 ; map[dovecot:2]
	// row 2: terrya@contoso.edu UserName="terry.adams*mailadmin" Password=*** (dovecot)
	// row 3: annb@contoso.edu UserName="ann.beebe*mailadmin" Password=*** (dovecot)
}

func ExampleProblemsError() {
	in := "EmailAddress,UserName,Password\n" +
		"bob@,bob,secret\n" +
		"\n" +
		"ann@contoso.edu,,secret\n"
	_, err := csvfile.Parse(strings.NewReader(in), csvfile.Options{})
	var pe *csvfile.ProblemsError
	if errors.As(err, &pe) {
		for _, p := range pe.Problems {
			fmt.Println(p)
		}
	}
	// Output:
	// row 2, column EmailAddress: "bob@" is not an email address — write it as name@domain, for example terry.adams@contoso.com
	// row 3: blank row — delete the row: a migration file has one row per mailbox, without gaps
	// row 4, column UserName: empty — enter the login of the mailbox on the source server, or an admin login form (see the migration file documentation)
}
