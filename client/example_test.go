package client_test

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/depotfs/depot/client"
)

func ExampleSign() {
	tok := client.Sign("FastDFS1234567890", "group1/M00/00/00/fwAAAWsEB46AMBAuAAAQAIkhtgI007.bin", 1795426279)
	fmt.Println(tok)
	// Output: 96133aba6d55f5add73f99b7f7036220
}

func ExampleSignedURL() {
	fmt.Println(client.SignedURL("FastDFS1234567890", "http://img.example.com",
		"group1/M00/00/00/fwAAAWsEB46AMBAuAAAQAIkhtgI007.bin", 1795426279))
	// Output: http://img.example.com/group1/M00/00/00/fwAAAWsEB46AMBAuAAAQAIkhtgI007.bin?token=96133aba6d55f5add73f99b7f7036220&ts=1795426279
}

func ExampleClient_Upload() {
	ctx := context.Background()
	c, err := client.New(client.Config{Storage: "10.0.0.5:23000", Secret: "FastDFS1234567890"})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return
	}
	defer c.Close()
	f, err := os.Open("photo.jpg")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return
	}
	defer f.Close()
	id, err := c.Upload(ctx, f, client.UploadOptions{Ext: "jpg", Metadata: map[string]string{"width": "160"}})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return
	}
	fmt.Println(c.SignedURL("https://img.example.com", id, time.Now()))
}
