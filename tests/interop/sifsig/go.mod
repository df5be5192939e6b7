module sifsig
