"""The Network Design Spaces (Radosavovic et al., ICCV 2019): one space per official sweep."""
