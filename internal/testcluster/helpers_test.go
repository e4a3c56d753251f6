package testcluster_test

import "github.com/depotfs/depot/client"

func clientOpts(ext string) client.UploadOptions { return client.UploadOptions{Ext: ext} }
