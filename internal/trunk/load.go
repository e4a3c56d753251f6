package trunk

import (
	"cmp"
	"slices"
)

// Load merges what scans of the group's storages found into the allocator. Files this
// allocator created are left alone (it knows every slot in them). Every other file is
// rebuilt from the scans: a slot is occupied when any storage holds a live header there;
// overlapping different slots (storages not yet agreeing) merge into one occupied span that
// no delete gives back. With complete (every storage of the group answered, each fenced
// first), the free space of those files is handed out; else only files created by this
// allocator are used and a later complete Load makes the rest usable.
func (a *Allocator) Load(r ScanResult, complete bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	sizes := map[fileKey]FileInfo{}
	for _, fi := range r.Files {
		k := fileKey{fi.Path, fi.ID}
		if cur, ok := sizes[k]; !ok || fi.Size > cur.Size {
			sizes[k] = fi
		}
		if lo := a.o.Epoch * FileIDSpan; fi.ID >= lo && fi.ID < lo+FileIDSpan && fi.ID >= a.nextID {
			a.nextID = fi.ID + 1
		}
	}
	slots := map[fileKey][]Entry{}
	for _, e := range r.Slots {
		k := fileKey{e.Path, e.File}
		slots[k] = append(slots[k], e)
	}
	for k, fi := range sizes {
		if f := a.files[k]; f != nil && (f.ours || f.reusable) {
			continue
		}
		if f := a.files[k]; f != nil {
			for off, n := range f.free {
				a.takeFree(f, off, n)
			}
		}
		size := uint32(min(fi.Size, int64(^uint32(0))))
		f := a.newFile(k, fi.Dir1, fi.Dir2, size)
		f.reusable = complete
		a.files[k] = f
		a.fill(f, slots[k])
	}
}

// fill records the scanned slots of f and makes the gaps between them free.
func (a *Allocator) fill(f *tfile, es []Entry) {
	slices.SortFunc(es, func(x, y Entry) int {
		return cmp.Or(cmp.Compare(x.Offset, y.Offset), cmp.Compare(y.Size, x.Size))
	})
	var cur *used
	var curOff, end uint32
	flush := func() {
		if cur != nil {
			f.used[curOff] = cur
		}
	}
	for _, e := range es {
		eEnd := e.Offset + e.Size
		if eEnd > f.size {
			f.size = eEnd
		}
		if cur != nil && e.Offset < end {
			same := e.Offset == curOff && e.Size == cur.size && cur.known && !e.Torn && e.Header == cur.hdr
			if !same {
				cur.known = false
				if eEnd > end {
					end = eEnd
					cur.size = end - curOff
				}
			}
			continue
		}
		flush()
		if e.Offset > end {
			a.addFree(f, end, e.Offset-end, false)
		}
		cur = &used{size: e.Size, hdr: e.Header, known: !e.Torn}
		curOff, end = e.Offset, eEnd
	}
	flush()
	if f.size > end {
		a.addFree(f, end, f.size-end, false)
	}
}
