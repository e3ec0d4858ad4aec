package jinja

// noneValue is JSON's null as Jinja2 has Python's None: it renders as
// "None", is false, and is defined (unlike gonja's nil, which is
// undefined). It is a bool so that the engine treats it as false.
type noneValue bool

// pyNone is the one value of noneValue.
const pyNone = noneValue(false)

func (noneValue) String() string { return "None" }
