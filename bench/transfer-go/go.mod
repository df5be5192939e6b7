module transfergo
