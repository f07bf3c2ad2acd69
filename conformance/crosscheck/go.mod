module crosscheck

go 1.27
