module github.com/downsignal/downsignal

go 1.26
