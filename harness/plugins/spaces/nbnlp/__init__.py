"""NAS-Bench-NLP (Klyuchnikov et al., 2020): recurrent cells for language modelling."""
