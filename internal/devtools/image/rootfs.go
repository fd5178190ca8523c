package image

import (
	"archive/tar"
	"bytes"
	"fmt"
	"time"
)

// Base files: what a distroless static base gives a Go binary that needs no libc, certificates or time zones
// (the operator talks only to the API server, with the service account's CA). The nonroot user is named so that
// tools that look users up (`id`, `ps` in a debug container) show a name.
const (
	passwd = "root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n"
	group  = "root:x:0:\nnonroot:x:65532:\n"
)

// entry is one file or directory of the image.
type entry struct {
	name     string
	mode     int64
	uid, gid int
	data     []byte // nil for a directory
}

// rootEntries are the image's files in the order they are written: directories before what they hold.
func rootEntries(bin []byte) []entry {
	return []entry{
		{name: "etc/", mode: 0o755},
		{name: "etc/group", mode: 0o644, data: []byte(group)},
		{name: "etc/passwd", mode: 0o644, data: []byte(passwd)},
		{name: "home/", mode: 0o755},
		{name: "home/nonroot/", mode: 0o700, uid: UID, gid: GID},
		{name: BinaryPath[1:], mode: 0o755, data: bin},
		// World-writable with the sticky bit, like any /tmp; the chart mounts an emptyDir over it, since the root
		// filesystem is read-only there.
		{name: "tmp/", mode: 0o1777},
	}
}

// rootFS writes the layer's tar: every entry with the same modification time, numeric owners and no user or
// group names, so that the bytes depend only on the binary and the time.
func rootFS(bin []byte, mtime time.Time) ([]byte, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range rootEntries(bin) {
		h := &tar.Header{Name: e.name, Mode: e.mode, Uid: e.uid, Gid: e.gid, ModTime: mtime, Format: tar.FormatUSTAR}
		if e.data == nil {
			h.Typeflag = tar.TypeDir
		} else {
			h.Typeflag, h.Size = tar.TypeReg, int64(len(e.data))
		}
		if err := tw.WriteHeader(h); err != nil {
			return nil, fmt.Errorf("image: layer entry %s: %w", e.name, err)
		}
		if _, err := tw.Write(e.data); err != nil {
			return nil, fmt.Errorf("image: layer entry %s: %w", e.name, err)
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
