// Command sifsig signs and verifies SIF images with the reference sylabs/sif
// integrity package, so that Berth's own signer/verifier can be checked against
// it in both directions. It is a test peer, not a product: output is terse and
// machine-readable.
//
// Exit codes: 0 success, 1 the sif library reported an error (printed verbatim
// on stderr), 2 usage or setup error (bad flags, unreadable key file,
// unsupported feature).
package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/sylabs/sif/v2/pkg/integrity"
	"github.com/sylabs/sif/v2/pkg/sif"
)

const usage = `usage:
  sifsig sign   --key SECRET.asc [--passphrase P] [--group-id G | --sif-id N]
                [--deterministic] [--time UNIX] IMAGE
  sifsig verify --keyring PUBLIC.asc[,MORE.asc] [--group-id G | --sif-id N]
                [--legacy | --legacy-all] IMAGE
  sifsig verify --dsse-key PUB.pem IMAGE   (always exit 2: not in sylabs/sif 2.8.3)
`

// errUsage marks errors that are the caller's fault rather than the library's.
type errUsage struct{ msg string }

func (e errUsage) Error() string { return e.msg }

func usagef(format string, a ...interface{}) error {
	return errUsage{fmt.Sprintf(format, a...)}
}

func main() {
	if len(os.Args) < 2 {
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}

	var err error
	switch os.Args[1] {
	case "sign":
		err = runSign(os.Args[2:])
	case "verify":
		err = runVerify(os.Args[2:])
	default:
		err = usagef("unknown command %q\n%s", os.Args[1], usage)
	}

	var ue errUsage
	switch {
	case err == nil:
	case errors.As(err, &ue):
		fmt.Fprintln(os.Stderr, ue.msg)
		os.Exit(2)
	default:
		// Verbatim, so tests can compare Berth's messages with the reference's.
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

// parse parses flags and requires exactly one positional argument (the image).
// flag.ContinueOnError lets us map bad flags to exit code 2 ourselves.
func parse(fs *flag.FlagSet, args []string) (string, error) {
	fs.SetOutput(os.Stderr)
	fs.Usage = func() { fmt.Fprint(os.Stderr, usage) }
	if err := fs.Parse(args); err != nil {
		return "", errUsage{err.Error()}
	}
	if fs.NArg() != 1 {
		return "", usagef("exactly one IMAGE expected (flags go before it)\n%s", usage)
	}
	return fs.Arg(0), nil
}

// readKeys reads an OpenPGP keyring file, armoured or binary (Apptainer's own
// keyrings are binary).
func readKeys(path string) (openpgp.EntityList, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, errUsage{err.Error()}
	}
	el, err := openpgp.ReadArmoredKeyRing(bytes.NewReader(b))
	if err != nil {
		el, err = openpgp.ReadKeyRing(bytes.NewReader(b))
	}
	if err != nil {
		return nil, usagef("%s: %v", path, err)
	}
	return el, nil
}

func runSign(args []string) error {
	fs := flag.NewFlagSet("sign", flag.ContinueOnError)
	keyPath := fs.String("key", "", "armoured or binary OpenPGP secret key (first entity with a secret key is used)")
	pass := fs.String("passphrase", "", "passphrase for an encrypted secret key")
	groupID := fs.Uint("group-id", 0, "sign only this object group")
	sifID := fs.Uint("sif-id", 0, "sign only this object")
	det := fs.Bool("deterministic", false, "zero SIF timestamps of the signature object and header")
	unix := fs.String("time", "", "signature creation time (Unix seconds)")
	image, err := parse(fs, args)
	if err != nil {
		return err
	}
	if *keyPath == "" {
		return usagef("--key is required")
	}
	if *groupID != 0 && *sifID != 0 {
		return usagef("--group-id and --sif-id are mutually exclusive")
	}

	el, err := readKeys(*keyPath)
	if err != nil {
		return err
	}
	var e *openpgp.Entity
	for _, c := range el {
		if c.PrivateKey != nil {
			e = c
			break
		}
	}
	if e == nil {
		return usagef("%s: no secret key found", *keyPath)
	}
	// The clear-sign encoder signs with the primary key only, so that is the
	// only one that needs decrypting.
	if e.PrivateKey.Encrypted {
		if *pass == "" {
			return usagef("%s: secret key is encrypted, --passphrase required", *keyPath)
		}
		if err := e.PrivateKey.Decrypt([]byte(*pass)); err != nil {
			return usagef("%s: %v", *keyPath, err)
		}
	}

	opts := []integrity.SignerOpt{integrity.OptSignWithEntity(e)}
	switch {
	case *groupID != 0:
		opts = append(opts, integrity.OptSignGroup(uint32(*groupID)))
	case *sifID != 0:
		opts = append(opts, integrity.OptSignObjects(uint32(*sifID)))
	}
	if *unix != "" {
		secs, err := strconv.ParseInt(*unix, 10, 64)
		if err != nil {
			return usagef("--time: %v", err)
		}
		t := time.Unix(secs, 0)
		opts = append(opts, integrity.OptSignWithTime(func() time.Time { return t }))
	}
	// In sif 2.8.3 this only affects SIF header/descriptor times; the
	// signature time comes from --time. No salt notation exists to disable:
	// the packaged go-crypto never adds one.
	if *det {
		opts = append(opts, integrity.OptSignDeterministic())
	}

	f, err := sif.LoadContainerFromPath(image, sif.OptLoadWithFlag(os.O_RDWR))
	if err != nil {
		return err
	}
	s, err := integrity.NewSigner(f, opts...)
	if err == nil {
		err = s.Sign()
	}
	// AddObject writes straight to the file; unloading just closes it, but a
	// close error could still mean lost data, so report the first error.
	if uerr := f.UnloadContainer(); err == nil {
		err = uerr
	}
	return err
}

func runVerify(args []string) error {
	fs := flag.NewFlagSet("verify", flag.ContinueOnError)
	keyrings := fs.String("keyring", "", "comma-separated OpenPGP public keyring files")
	dsseKey := fs.String("dsse-key", "", "PEM public key for DSSE signatures (unsupported by sif 2.8.3)")
	groupID := fs.Uint("group-id", 0, "verify only this object group")
	sifID := fs.Uint("sif-id", 0, "verify only this object (subset mode)")
	legacy := fs.Bool("legacy", false, "consider only legacy (SIFHASH) signatures")
	legacyAll := fs.Bool("legacy-all", false, "legacy, with one task per grouped non-signature object")
	image, err := parse(fs, args)
	if err != nil {
		return err
	}
	if *dsseKey != "" {
		// sif 2.8.3 has no DSSE decoder (pkg/integrity/dsse.go and
		// OptVerifyWithVerifier came later: sylabs/sif PRs #228, #245).
		return usagef("--dsse-key: DSSE verification is not supported by sylabs/sif 2.8.3")
	}
	if *keyrings == "" {
		return usagef("--keyring is required")
	}
	if *groupID != 0 && *sifID != 0 {
		return usagef("--group-id and --sif-id are mutually exclusive")
	}

	var kr openpgp.EntityList
	for _, p := range strings.Split(*keyrings, ",") {
		el, err := readKeys(p)
		if err != nil {
			return err
		}
		kr = append(kr, el...)
	}

	// Lines are collected and printed only if the whole verification passes,
	// so stdout is empty whenever the exit code is non-zero.
	var lines []string
	opts := []integrity.VerifierOpt{
		integrity.OptVerifyWithKeyRing(kr),
		integrity.OptVerifyCallback(func(r integrity.VerifyResult) bool {
			if r.Error() == nil {
				lines = append(lines, okLine(r))
			}
			return false // never mask an error
		}),
	}
	switch {
	case *groupID != 0:
		opts = append(opts, integrity.OptVerifyGroup(uint32(*groupID)))
	case *sifID != 0:
		opts = append(opts, integrity.OptVerifyObject(uint32(*sifID)))
	}
	switch {
	case *legacyAll:
		opts = append(opts, integrity.OptVerifyLegacyAll())
	case *legacy:
		opts = append(opts, integrity.OptVerifyLegacy())
	}

	f, err := sif.LoadContainerFromPath(image, sif.OptLoadWithFlag(os.O_RDONLY))
	if err != nil {
		return err
	}
	defer f.UnloadContainer()

	v, err := integrity.NewVerifier(f, opts...)
	if err != nil {
		return err
	}
	if err := v.Verify(); err != nil {
		return err
	}
	fmt.Print(strings.Join(lines, ""))
	return nil
}

// okLine formats "OK sig=<id> objects=<id,...> signer=<FINGERPRINT>".
func okLine(r integrity.VerifyResult) string {
	ids := make([]string, 0, len(r.Verified()))
	for _, od := range r.Verified() {
		ids = append(ids, strconv.FormatUint(uint64(od.ID()), 10))
	}
	signer := ""
	if e := r.Entity(); e != nil {
		signer = fmt.Sprintf("%X", e.PrimaryKey.Fingerprint)
	}
	return fmt.Sprintf("OK sig=%d objects=%s signer=%s\n", r.Signature().ID(), strings.Join(ids, ","), signer)
}
